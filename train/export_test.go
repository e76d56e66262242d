package train

// UseGraphUpdate makes tr apply AdamW inside its step graphs, as it does on a backend whose
// buffers the host cannot reach. Call it before the first step.
func UseGraphUpdate(tr *Trainer) { tr.hostKernel = nil }

// UseScalarUpdate makes tr apply AdamW on the host with the portable kernel. Call it before
// the first step.
func UseScalarUpdate(tr *Trainer) { tr.hostKernel = adamWScalar }

// UpdatesOnHost reports whether tr applies AdamW on the host.
func UpdatesOnHost(tr *Trainer) bool { return tr.hostKernel != nil }
