# Writes the .npz fixtures of data/atoms's tests with NumPy itself:
#   cd data/atoms/testdata && /usr/bin/python3 gen_npz.py
# Values follow formulas the Go test recomputes: position [m, a, k] =
# m + 0.1 a + 0.01 k, force = -position, energy [m] = -1.5 m.
import numpy as np

M, N = 4, 3
R = np.array([[[m + 0.1 * a + 0.01 * k for k in range(3)] for a in range(N)] for m in range(M)])
E = np.array([-1.5 * m for m in range(M)])
z = np.array([8, 1, 1], dtype=np.uint8)
# sGDML's MD17 layout: z uint8 [N], R [M,N,3], E [M,1], F [M,N,3], plus strings.
np.savez_compressed("md17-like.npz", z=z, R=R, E=E[:, None], F=-R, name=np.array("water"), theory=np.array("fixture"))
# The revised MD17's layout, with float32 coordinates and int64 charges, no forces.
np.savez("rmd17-like.npz", nuclear_charges=z.astype(np.int64), coords=R.astype(np.float32), energies=E)
# Neither layout.
np.savez("other.npz", positions=R)
