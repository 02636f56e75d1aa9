#!/usr/bin/python3
"""Writes data/samples/h5py-gzip.h5: a small CICADA-layout file from another HDF5 writer (h5py),
chunked and gzip-compressed with the shuffle filter, for distill's reader tests. The same
events go to data/samples/h5py-gzip.npy (written by NumPy) so tests can compare the two.

Run with Debian's packages (apt-get install python3-h5py python3-numpy):
    /usr/bin/python3 scripts/make-h5py-sample.py
The events are generated-like, not from distill's generator: Poisson pileup deposits with an
exponential ET and, in a third of the events, one jet shared over a 3 x 3 block of regions.
"""
import os

import h5py
import numpy as np

N = 64
rng = np.random.default_rng(20261123)
energy = np.zeros((N, 18, 14))
for i in range(N):
    hits = rng.poisson(120)
    phi = rng.integers(0, 18, hits)
    eta = rng.integers(0, 14, hits)
    np.add.at(energy[i], (phi, eta), rng.exponential(0.8, hits))
    if i % 3 == 0:
        p, e = rng.integers(0, 18), rng.integers(1, 13)
        pt = 20 * rng.pareto(3.5) + 20
        for dp, de, share in [(0, 0, 0.6)] + [(a, b, 0.05) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]:
            energy[i, (p + dp) % 18, e + de] += share * pt
counts = np.minimum(np.floor(energy / 0.5), 1023).astype(np.int64)
labels = (np.arange(N) % 3 == 0).astype(np.int64)
npv = rng.poisson(50, N).astype(np.float32)

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "data", "samples")
with h5py.File(os.path.join(out, "h5py-gzip.h5"), "w") as f:
    f.create_dataset("CaloRegions", data=counts, chunks=(16, 18, 14), compression="gzip", compression_opts=6, shuffle=True)
    f.create_dataset("Labels", data=labels, chunks=(32,), compression="gzip")
    f.create_dataset("nPV", data=npv)
    f.attrs["source"] = "scripts/make-h5py-sample.py (h5py %s, HDF5 %s)" % (h5py.version.version, h5py.version.hdf5_version)
np.save(os.path.join(out, "h5py-gzip.npy"), counts)
