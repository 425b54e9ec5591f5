"""The neighbourhood web app of `phm serve`."""
