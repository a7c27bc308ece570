#!/usr/bin/env python3
# Makes a wider image-metric case set in shared/golden/metrics.json's form, computed by
# scikit-image 0.19 (Debian's python3-skimage: apt-get install -y python3-skimage): the shipped
# cases recomputed (it prints how far they are from the shipped values: a wrong generator shows),
# then window-sized, non-square and large images, bright flat regions, binary and dark images.
#
#   /usr/bin/python3 packages/metrics/test/golden-variants.py ../shared/golden/metrics.json /tmp/mv/metrics.json
#   cp -r ../shared/golden/lpips /tmp/mv/ && cd packages/metrics && NOETHER_GOLDEN_DIR=/tmp/mv npx vitest run test/image.test.ts
import json, sys
import numpy as np
from skimage.metrics import structural_similarity as ssim, mean_squared_error, peak_signal_noise_ratio
from scipy.ndimage import uniform_filter
ref = json.load(open(sys.argv[1]))
rng = np.random.default_rng(7)
def case(gt, pred):
  gt = gt.astype(np.float64); pred = pred.astype(np.float64)
  mc = gt.shape[2] > 1
  m = float(mean_squared_error(gt, pred))
  return {'gt': gt.tolist(), 'pred': pred.tolist(), 'mse': m,
    'psnr': float(peak_signal_noise_ratio(gt, pred, data_range=1)),
    'ssim_uniform7': float(ssim(gt, pred, channel_axis=2, data_range=1)),
    'ssim_uniform7_range2': float(ssim(gt, pred, channel_axis=2, data_range=2)),
    'ssim_gaussian': float(ssim(gt, pred, channel_axis=2, data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))}
cases = []
# the shipped cases recomputed (a wrong generator shows)
for c in ref['cases']: cases.append(case(np.array(c['gt']), np.array(c['pred'])))
def smooth(h, w, ch):
  x = rng.random((h, w, ch)); return uniform_filter(x, size=(5, 5, 1))
for (h, w, ch) in [(11, 11, 1), (11, 13, 3), (12, 40, 1), (40, 12, 3), (96, 80, 3)]:
  g = smooth(h, w, ch); p = np.clip(g + rng.normal(0, 0.05, g.shape), 0, 1); cases.append(case(g, p))
# bright flat regions (float32 cancellation), binary images, a dark image against a shifted copy
g = np.full((24, 24, 3), 0.85); g[8:16, 8:16] = 0.95; p = g.copy(); p[:, :12] -= 0.1; cases.append(case(g, p))
g = (rng.random((16, 16, 1)) > 0.5).astype(float); p = (rng.random((16, 16, 1)) > 0.3).astype(float); cases.append(case(g, p))
g = smooth(32, 32, 3) * 0.05; p = np.roll(g, 2, axis=1); cases.append(case(g, p))
json.dump({'spec': ref['spec'], 'cases': cases}, open(sys.argv[2], 'w'))
for i, (a, b) in enumerate(zip(ref['cases'], cases)):
  print('check', i, max(abs(a[k] - b[k]) for k in ['mse', 'psnr', 'ssim_uniform7', 'ssim_uniform7_range2', 'ssim_gaussian']))
print(len(cases), 'cases')
