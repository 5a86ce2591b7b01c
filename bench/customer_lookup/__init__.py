"""Customer lookup latency: GridCare's scoped one-box search beside the same query as raw SQL."""
