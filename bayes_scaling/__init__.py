"""bayes-scaling."""
