package runner

import (
	"fmt"

	"github.com/gomlx/compute"

	"github.com/sftlab/sftlab/configs"
)

// buildPretrained loads the pretrained model of model.pretrained.
func buildPretrained(cfg configs.Config, p *prepared, be compute.Backend) (*builtModel, error) {
	return nil, fmt.Errorf("model.pretrained: %s: pretrained models are not wired into the runner yet", cfg.Model.Pretrained)
}
