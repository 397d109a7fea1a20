"""In-silico perturbation screens (knockout, knockdown, overexpression; single and pairwise; ODE and Boolean)."""
