"""
A fixed random feature layer
============================

Put a layer of LIF units between the input relay and the class networks:
each feature pair (an E and an I unit) is driven by a fixed random, slightly
blurred projection of the image through a threshold, and the class networks
learn from the features by ED instead of from the pixels. Nothing in the
feature layer learns. The same network without it is trained alongside for
comparison, and the first hidden layer's templates are read back through the
features.
"""

# %%
# With and without features
# -------------------------
# ``features=N`` adds N feature pairs; their thresholds are calibrated on the
# first training images so that about ``feature_active`` of them fire for an
# image, and the calibration is saved with the weights.

import os

import matplotlib.pyplot as plt
import numpy as np

import ed_brian
from ed_brian.weights import pixel_weights

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"

plain = ed_brian.Config(hidden=64 if FULL else 16, train=1000 if FULL else 300, test=500 if FULL else 200,
                        epochs=2)
with_features = plain.replace(features=2000 if FULL else 400)
data = ed_brian.load_data(plain)
results = {}
for name, config in (("pixels", plain), ("features", with_features)):
    results[name] = ed_brian.train(config, data)
    last = results[name].epochs[-1]
    print(f"{name}: final test accuracy {last.test_accuracy:.1f} %, "
          f"mean rates {', '.join(f'{layer} {rate:.1f} Hz' for layer, rate in last.mean_rates.items())}")

weights = results["features"].weights
print(f"saved calibration: {len(weights['features/theta'])} thresholds, "
      f"projections blurred by {float(weights['features/smoothing'][0]):g} pixel")

# %%
# The templates, read through the features
# ----------------------------------------
# A hidden unit learns magnitudes from feature pairs, not from pixels. Taking
# the features as linear (each one's projection over its scale), the E minus
# I magnitudes map back onto the image: what each class network's first layer
# responds to, on average over its units.

templates = pixel_weights(weights, n_classes=10)
fig, axes = plt.subplots(2, 5, figsize=(10, 4.4))
for n, ax in enumerate(axes.flat):
    limit = np.abs(templates[n]).max()
    ax.imshow(templates[n], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(data.class_names[n], fontsize=9)
    ax.axis("off")
fig.suptitle("First-layer templates through the feature layer")
fig.tight_layout()
plt.show()
