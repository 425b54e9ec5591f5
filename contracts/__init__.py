"""The fixed contracts other tools rely on (source feeds, published marts) and their loader: the lowest layer."""
