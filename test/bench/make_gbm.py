#!/usr/bin/env python3
"""The benchmark's 500-tree, depth-8 gradient-boosted model: scikit-learn's
GradientBoostingRegressor on 2,000 rows of 10 features (seeded), converted
with skl2onnx, written to the path given (default test/bench/models/gbm_500.onnx)."""
import os
import sys
import time
import warnings

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.datasets import make_regression
from sklearn.ensemble import GradientBoostingRegressor

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "bench", "models", "gbm_500.onnx")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    x, y = make_regression(n_samples=2000, n_features=10, noise=1.0, random_state=5)
    x = x.astype(np.float32)
    t0 = time.time()
    est = GradientBoostingRegressor(n_estimators=500, max_depth=8, random_state=0).fit(x, y)
    m = to_onnx(est, x[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    onnx.save(m, out)
    print("trained and converted in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
