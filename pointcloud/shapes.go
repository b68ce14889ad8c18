package pointcloud

import (
	"math"
	"slices"

	"github.com/loomml/loom/tensor"
)

// Classes names the procedurally generated shapes; a label is an index
// into it. The data are synthetic. Every shape is rescaled to the unit
// ball after jitter, so classes differ by form, not by size.
var Classes = []string{
	"sphere",
	"cube",
	"cylinder",
	"cone",
	"torus",
	"pyramid",     // square base
	"capsule",     // cylinder with hemispherical caps
	"annulus",     // flat ring
	"helix",       // a spring: a thin tube along three turns of a helix
	"disc",        // flat, filled
	"tetrahedron", // regular
	"octahedron",  // regular
}

// Jitter and occlusion of Generate.
const (
	scaleJitterLo = 0.7  // per-axis scale factor drawn from [lo, hi]
	scaleJitterHi = 1.3  //
	noiseStd      = 0.01 // Gaussian noise per coordinate, before the final rescale
	occludeProb   = 0.5  // chance a sample is cut by a plane
	occludeMinCut = 0.10 // fraction of the surface dropped by the plane …
	occludeMaxCut = 0.35 // … drawn uniformly in [min, max]
	oversample    = 2    // surface points drawn per kept point, before occlusion
)

// Generate returns n synthetic point clouds of points xyz points each
// (clouds[i] has points·3 values, x y z per point) and their labels (index
// into Classes; sample i has label i mod len(Classes), so every class is
// present once n ≥ len(Classes) and any prefix is balanced).
//
// Each sample is drawn from its own generator, seeded from seed and i, so
// sample i is the same whatever n is. A sample is: points on the shape's
// surface, uniform by area (oversampled ×2); an anisotropic scale, each
// axis ×U(0.7, 1.3); a uniformly random rotation (SO(3), from a random unit
// quaternion); Gaussian noise σ = 0.01; with probability ½ a partial
// occlusion dropping the points beyond a random plane (10–35 % of them);
// a random subset of the survivors, points of them; centred on the
// centroid and scaled so the farthest point is at distance 1.
func Generate(n, points int, seed uint64) (clouds [][]float32, labels []int) {
	if n < 0 || points < 1 {
		panic("pointcloud: Generate wants n ≥ 0 and points ≥ 1")
	}
	clouds = make([][]float32, n)
	labels = make([]int, n)
	for i := range n {
		labels[i] = i % len(Classes)
		clouds[i] = sample(labels[i], points, tensor.NewRNG(sampleSeed(seed, uint64(i))))
	}
	return clouds, labels
}

// sampleSeed mixes the data seed and a sample index (splitmix64 finaliser)
// into the seed of that sample's generator.
func sampleSeed(seed, i uint64) uint64 {
	mix := func(z uint64) uint64 {
		z += 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	return mix(mix(seed) ^ i)
}

type vec3 = [3]float64

// sample draws one cloud of class c.
func sample(c, points int, r *tensor.RNG) []float32 {
	m := oversample * points
	pts := make([]vec3, m)
	for j := range pts {
		pts[j] = surfacePoint(c, r)
	}
	var scale vec3
	for a := range scale {
		scale[a] = scaleJitterLo + (scaleJitterHi-scaleJitterLo)*r.Float64()
	}
	rot := randomRotation(r)
	for j, p := range pts {
		for a := range p {
			p[a] *= scale[a]
		}
		q := mulMat(rot, p)
		for a := range q {
			q[a] += noiseStd * r.Normal()
		}
		pts[j] = q
	}
	if r.Float64() < occludeProb {
		pts = occlude(pts, occludeMinCut+(occludeMaxCut-occludeMinCut)*r.Float64(), r)
	}
	// A random subset of the survivors (at least half of the oversampled
	// points survive, so there are always enough).
	perm := r.Perm(len(pts))[:points]
	out := make([]float32, 3*points)
	var centroid vec3
	for _, j := range perm {
		for a := range 3 {
			centroid[a] += pts[j][a] / float64(points)
		}
	}
	var radius float64
	for _, j := range perm {
		radius = max(radius, norm(sub(pts[j], centroid)))
	}
	if radius == 0 {
		radius = 1
	}
	for k, j := range perm {
		for a := range 3 {
			out[3*k+a] = float32((pts[j][a] - centroid[a]) / radius)
		}
	}
	return out
}

// occlude drops the fraction cut of pts lying farthest along a random
// direction: the points beyond a random plane.
func occlude(pts []vec3, cut float64, r *tensor.RNG) []vec3 {
	n := unitVector(r)
	proj := make([]float64, len(pts))
	for j, p := range pts {
		proj[j] = dot(p, n)
	}
	sorted := slices.Clone(proj)
	slices.Sort(sorted)
	threshold := sorted[int(float64(len(sorted)-1)*(1-cut))]
	kept := pts[:0:0]
	for j, p := range pts {
		if proj[j] <= threshold {
			kept = append(kept, p)
		}
	}
	return kept
}

// surfacePoint draws a point uniformly (by area) on the canonical surface
// of class c, roughly within [-1, 1]³.
func surfacePoint(c int, r *tensor.RNG) vec3 {
	u := r.Float64
	switch Classes[c] {
	case "sphere":
		return unitVector(r)
	case "cube":
		face, s, t := r.Intn(6), 2*u()-1, 2*u()-1
		sign := float64(2*(face%2) - 1)
		switch face / 2 {
		case 0:
			return vec3{sign, s, t}
		case 1:
			return vec3{s, sign, t}
		default:
			return vec3{s, t, sign}
		}
	case "cylinder":
		const rad, h = 0.6, 1.6
		side, caps := 2*math.Pi*rad*h, 2*math.Pi*rad*rad
		if u()*(side+caps) < side {
			a := 2 * math.Pi * u()
			return vec3{rad * math.Cos(a), rad * math.Sin(a), h * (u() - 0.5)}
		}
		x, y := diskPoint(r, 0, rad)
		return vec3{x, y, h * (float64(r.Intn(2)) - 0.5)}
	case "cone":
		const rad, h = 0.7, 1.4
		lateral, base := math.Pi*rad*math.Hypot(rad, h), math.Pi*rad*rad
		if u()*(lateral+base) < lateral {
			t, a := math.Sqrt(u()), 2*math.Pi*u() // area grows linearly from the apex
			return vec3{t * rad * math.Cos(a), t * rad * math.Sin(a), h/2 - t*h}
		}
		x, y := diskPoint(r, 0, rad)
		return vec3{x, y, -h / 2}
	case "torus":
		const major, minor = 0.7, 0.25
		for {
			a, b := 2*math.Pi*u(), 2*math.Pi*u()
			// Area element ∝ major + minor·cos b: rejection.
			if u()*(major+minor) <= major+minor*math.Cos(b) {
				ring := major + minor*math.Cos(b)
				return vec3{ring * math.Cos(a), ring * math.Sin(a), minor * math.Sin(b)}
			}
		}
	case "pyramid":
		const s, h = 0.7, 1.2 // half side of the base, height
		b := [4]vec3{{-s, -s, -h / 2}, {s, -s, -h / 2}, {s, s, -h / 2}, {-s, s, -h / 2}}
		apex := vec3{0, 0, h / 2}
		tris := [][3]vec3{{b[0], b[1], apex}, {b[1], b[2], apex}, {b[2], b[3], apex}, {b[3], b[0], apex}, {b[0], b[1], b[2]}, {b[0], b[2], b[3]}}
		return meshPoint(tris, r)
	case "capsule":
		const rad, h = 0.4, 1.2 // radius, length of the cylindrical part
		side, caps := 2*math.Pi*rad*h, 4*math.Pi*rad*rad
		if u()*(side+caps) < side {
			a := 2 * math.Pi * u()
			return vec3{rad * math.Cos(a), rad * math.Sin(a), h * (u() - 0.5)}
		}
		p := unitVector(r)
		z := h / 2
		if p[2] < 0 {
			z = -z
		}
		return vec3{rad * p[0], rad * p[1], rad*p[2] + z}
	case "annulus":
		x, y := diskPoint(r, 0.5, 1)
		return vec3{x, y, 0}
	case "helix":
		const rad, h, turns, tube = 0.6, 1.6, 3, 0.08
		// Constant speed along the curve: the parameter is uniform by length.
		t := u()
		a := 2 * math.Pi * turns * t
		centre := vec3{rad * math.Cos(a), rad * math.Sin(a), h * (t - 0.5)}
		// A point on the tube's circle, in the plane of the radial and z
		// directions (an approximation of the normal plane).
		b := 2 * math.Pi * u()
		radial := vec3{math.Cos(a), math.Sin(a), 0}
		return vec3{centre[0] + tube*math.Cos(b)*radial[0], centre[1] + tube*math.Cos(b)*radial[1], centre[2] + tube*math.Sin(b)}
	case "disc":
		x, y := diskPoint(r, 0, 1)
		return vec3{x, y, 0}
	case "tetrahedron":
		v := [4]vec3{{1, 1, 1}, {1, -1, -1}, {-1, 1, -1}, {-1, -1, 1}}
		return meshPoint([][3]vec3{{v[0], v[1], v[2]}, {v[0], v[1], v[3]}, {v[0], v[2], v[3]}, {v[1], v[2], v[3]}}, r)
	case "octahedron":
		var tris [][3]vec3
		for _, sx := range []float64{-1, 1} {
			for _, sy := range []float64{-1, 1} {
				for _, sz := range []float64{-1, 1} {
					tris = append(tris, [3]vec3{{sx, 0, 0}, {0, sy, 0}, {0, 0, sz}})
				}
			}
		}
		return meshPoint(tris, r)
	}
	panic("pointcloud: no surface for class " + Classes[c])
}

// diskPoint draws a point uniformly on the ring lo ≤ ρ ≤ hi of the plane.
func diskPoint(r *tensor.RNG, lo, hi float64) (x, y float64) {
	rho := math.Sqrt(lo*lo + (hi*hi-lo*lo)*r.Float64())
	a := 2 * math.Pi * r.Float64()
	return rho * math.Cos(a), rho * math.Sin(a)
}

// meshPoint draws a point uniformly on a triangle mesh: a triangle by area,
// then a point uniformly in it.
func meshPoint(tris [][3]vec3, r *tensor.RNG) vec3 {
	areas := make([]float64, len(tris))
	var total float64
	for i, t := range tris {
		areas[i] = norm(cross(sub(t[1], t[0]), sub(t[2], t[0]))) / 2
		total += areas[i]
	}
	pick := r.Float64() * total
	k := 0
	for k < len(tris)-1 && pick >= areas[k] {
		pick -= areas[k]
		k++
	}
	s, t := r.Float64(), r.Float64()
	if s+t > 1 {
		s, t = 1-s, 1-t
	}
	a, b, c := tris[k][0], tris[k][1], tris[k][2]
	var p vec3
	for i := range p {
		p[i] = a[i] + s*(b[i]-a[i]) + t*(c[i]-a[i])
	}
	return p
}

// unitVector is uniform on the unit sphere.
func unitVector(r *tensor.RNG) vec3 {
	for {
		v := vec3{r.Normal(), r.Normal(), r.Normal()}
		if n := norm(v); n > 1e-12 {
			return vec3{v[0] / n, v[1] / n, v[2] / n}
		}
	}
}

// randomRotation is uniform on SO(3): the rotation of a uniformly random
// unit quaternion (four normals, normalised).
func randomRotation(r *tensor.RNG) [3]vec3 {
	var q [4]float64
	var n float64
	for n < 1e-12 {
		for i := range q {
			q[i] = r.Normal()
		}
		n = math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	}
	w, x, y, z := q[0]/n, q[1]/n, q[2]/n, q[3]/n
	return [3]vec3{
		{1 - 2*(y*y+z*z), 2 * (x*y - w*z), 2 * (x*z + w*y)},
		{2 * (x*y + w*z), 1 - 2*(x*x+z*z), 2 * (y*z - w*x)},
		{2 * (x*z - w*y), 2 * (y*z + w*x), 1 - 2*(x*x+y*y)},
	}
}

func mulMat(m [3]vec3, v vec3) vec3 { return vec3{dot(m[0], v), dot(m[1], v), dot(m[2], v)} }
func dot(a, b vec3) float64         { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func sub(a, b vec3) vec3            { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func norm(a vec3) float64           { return math.Sqrt(dot(a, a)) }
func cross(a, b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
