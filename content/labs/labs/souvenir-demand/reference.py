"""Reference solution of the souvenir-demand lab (not served; the tests check that it passes):
a regression of log sales on a linear trend and month-of-year dummies, back-transformed with
the usual variance correction. Multiplicative seasonality becomes additive on the log scale.
"""

import numpy as np
import pandas as pd


def design(periods, start):
    t = np.arange(start, start + len(periods), dtype=float)
    months = np.array([p.month for p in periods])
    dummies = [(months == m).astype(float) for m in range(2, 13)]
    return np.column_stack([np.ones_like(t), t, *dummies])


def forecast(history, horizon):
    y = np.log(history.to_numpy())
    X = design(history.index, 0)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    residual_variance = np.var(y - X @ beta, ddof=X.shape[1])
    future = pd.period_range(history.index[-1] + 1, periods=horizon, freq=history.index.freq)
    return np.exp(design(future, len(history)) @ beta + residual_variance / 2)
