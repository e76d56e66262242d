package cluster

import (
	"fmt"
	"strings"

	"al.essio.dev/pkg/shellescape"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sftlab/sftlab/configs"
)

// maxJobName keeps "NAME-INDEX", the hostname of an Indexed Job's pod, within the 63
// characters of a DNS label.
const maxJobName = 52

// Labels put on the Job and its pods.
const (
	labelName     = "app.kubernetes.io/name"
	labelInstance = "app.kubernetes.io/instance"
)

// K8sJob builds the Kubernetes Job of plan from the typed API structs: an Indexed Job with one
// completion per task, each pod running `sftlab run` on shard JOB_COMPLETION_INDEX+1, with the
// resources, image and shared volume of the experiment's cluster section.
func K8sJob(plan Plan) (*batchv1.Job, error) {
	exp := plan.Experiment
	c := exp.Base.Cluster
	name := dnsLabel("sftlab-"+exp.Name, maxJobName)
	labels := map[string]string{labelName: "sftlab", labelInstance: dnsLabel(exp.Name, 63)}

	var extraSets []string
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	if c.K8s.VolumeClaim != "" {
		extraSets = append(extraSets, "output.dir="+c.K8s.MountPath)
		mounts = []corev1.VolumeMount{{Name: "runs", MountPath: c.K8s.MountPath}}
		volumes = []corev1.Volume{{Name: "runs", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.K8s.VolumeClaim},
		}}}
	}
	script := fmt.Sprintf(`exec %s --shard "$((JOB_COMPLETION_INDEX + 1))/%d"`,
		shellescape.QuoteCommand(append([]string{"sftlab"}, plan.runArgs(extraSets...)...)), plan.Tasks)

	res, err := k8sResources(c)
	if err != nil {
		return nil, err
	}
	pod := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, // backoffLimitPerIndex requires it
		Containers: []corev1.Container{{
			Name:       "sftlab",
			Image:      c.K8s.Image,
			WorkingDir: c.K8s.WorkDir,
			Command:    []string{"/bin/sh", "-c", script},
			// The same matmul kernels, and so the same bits, on every x86-64 node of a mixed
			// cluster (the runs' baselines are then baselines/NAME.avx2.json).
			Env:          []corev1.EnvVar{{Name: "GOMLX_GO_SIMD_AVX512", Value: "false"}},
			Resources:    res,
			VolumeMounts: mounts,
		}},
		Volumes: volumes,
	}
	if c.Time != "" {
		d, err := configs.ParseTimeLimit(c.Time)
		if err != nil {
			return nil, fmt.Errorf("cluster.time: %w", err)
		}
		pod.ActiveDeadlineSeconds = new(int64(d.Seconds()))
	}
	parallel := plan.Tasks
	if c.Parallel > 0 && c.Parallel < parallel {
		parallel = c.Parallel
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   c.K8s.Namespace,
			Labels:      labels,
			Annotations: map[string]string{"sftlab/experiment": plan.ExperimentPath, "sftlab/runs": runList(plan)},
		},
		Spec: batchv1.JobSpec{
			CompletionMode:       new(batchv1.IndexedCompletion),
			Completions:          new(int32(plan.Tasks)),
			Parallelism:          new(int32(parallel)),
			BackoffLimitPerIndex: new(int32(c.K8s.BackoffLimitPerIndex)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod,
			},
		},
	}
	return job, nil
}

// runList lists the runs of each index, "0=ID,ID 1=ID", for the Job's annotation.
func runList(plan Plan) string {
	parts := make([]string, plan.Tasks)
	for i := range plan.Tasks {
		var ids []string
		for _, r := range plan.TaskRuns(i) {
			ids = append(ids, r.ID)
		}
		parts[i] = fmt.Sprintf("%d=%s", i, strings.Join(ids, ","))
	}
	return strings.Join(parts, " ")
}

// k8sResources turns the cluster section into requests and limits: cpus and memory requested,
// memory also the limit, GPUs as nvidia.com/gpu limits.
func k8sResources(c configs.ClusterConfig) (corev1.ResourceRequirements, error) {
	req := corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(c.CPUs), resource.DecimalSI)}
	lim := corev1.ResourceList{}
	if c.Mem != "" {
		q, err := memQuantity(c.Mem)
		if err != nil {
			return corev1.ResourceRequirements{}, err
		}
		req[corev1.ResourceMemory] = q
		lim[corev1.ResourceMemory] = q
	}
	if c.GPUs > 0 {
		lim["nvidia.com/gpu"] = *resource.NewQuantity(int64(c.GPUs), resource.DecimalSI)
	}
	if len(lim) == 0 {
		lim = nil
	}
	return corev1.ResourceRequirements{Requests: req, Limits: lim}, nil
}

// memQuantity converts Slurm's memory notation (K, M, G, T in powers of 1024; no unit is M)
// into a Kubernetes quantity (Ki, Mi, Gi, Ti).
func memQuantity(mem string) (resource.Quantity, error) {
	if mem == "" {
		return resource.Quantity{}, fmt.Errorf("cluster.mem: no memory size")
	}
	s := mem
	switch last := s[len(s)-1]; last {
	case 'K', 'M', 'G', 'T':
		s += "i"
	default:
		s += "Mi"
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, fmt.Errorf("cluster.mem %q: %w", mem, err)
	}
	return q, nil
}

// K8sYAML renders job as YAML for kubectl apply -f.
func K8sYAML(job *batchv1.Job) ([]byte, error) {
	out, err := yaml.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("render job %s as YAML: %w", job.Name, err)
	}
	return out, nil
}
