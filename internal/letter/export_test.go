package letter

// NewUnsubset is New without cutting the fonts down to the repertoire first:
// the naive renderer, kept for comparison in tests and benchmarks.
func NewUnsubset(opts Options) (*Renderer, error) { return newRenderer(opts, false) }
