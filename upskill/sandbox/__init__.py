"""Runs untrusted learner code under bubblewrap. Plain Python: never imports Django."""
