package train

// LinearSchedule returns the learning rate of optimizer step (0-based) for Hugging Face's
// get_linear_schedule_with_warmup: base·step/warmup during warmup, then a linear decay that
// reaches 0 at maxSteps. Step 0 runs at lr 0 whenever warmup > 0. The arithmetic is that of
// the Python lambda (float64, same operation order), so the values match bit for bit.
func LinearSchedule(base float64, warmup, maxSteps, step int) float64 {
	if step < warmup {
		return base * (float64(step) / float64(max(1, warmup)))
	}
	return base * max(0.0, float64(maxSteps-step)/float64(max(1, maxSteps-warmup)))
}
