"""phm: the command line of the population health management pipeline (see README)."""
