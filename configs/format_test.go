package configs

import "testing"

func TestFormatValueShort(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{0.001, "1e-3"}, {0.003, "3e-3"}, {0.01, "0.01"}, {3e-5, "3e-5"}, {5e-5, "5e-5"}, {0.5, "0.5"}, {1.5e10, "1.5e10"},
		{80.0, "80"}, {80, "80"}, {"sft", "sft"}, {true, "true"}, {nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatValue(tt.in); got != tt.want {
				t.Errorf("FormatValue(%#v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
