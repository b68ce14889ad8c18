// HSUM reduces Z to its lane sum in X0 (clobbers Z/Y/X 0, 1): halves,
// quarters, then (l0+l2)+(l1+l3), the order hsum16 (lowp.go) follows.
// Included by the assembly files that reduce float32 accumulators.
#define HSUM(z, y) \
	VEXTRACTF32X8 $1, z, Y1; \
	VADDPS Y1, y, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0
