// Package conformal gives any regression model prediction intervals with a
// finite-sample coverage guarantee: split conformal prediction (Vovk et
// al.; Lei et al. 2018), optionally local to a grouping key.
//
// Calibrate takes held-out points the model did not train on (key,
// prediction, truth) and a miscoverage level α. An interval for a new
// prediction is ŷ ± q, where q is the ⌈(n+1)(1−α)⌉-th smallest absolute
// residual among the n calibration points used. With Neighbours = 0 all
// calibration points are used (plain split conformal: coverage ≥ 1−α when
// calibration and test points are exchangeable). With Neighbours = k only
// the k calibration points nearest to the query's key are used: a sliding
// window whose width adapts so that every window holds the same number of
// points, as the DRA paper (arXiv 2408.14915) describes its intervals
// ("a dynamic sliding window adaptive to the partitions of an equivalent
// number of marked points"). Its official code does not include this part;
// this is loom's reading of that sentence.
//
// Coverage reports, per group of a test set, how many truths fell inside
// their intervals.
//
//	iv, err := conformal.Calibrate(calib, conformal.Options{Alpha: 0.1, Neighbours: 20})
//	lo, hi := iv.Interval(key, pred)
//	report := iv.Coverage(test, func(key float64) string { return bucket(key) })
package conformal
