package tgraph

import (
	"cmp"
	"math"
	"slices"
)

// The link-prediction metrics of DyGLib and TGB: average precision and the
// area under the ROC curve, computed as scikit-learn's
// average_precision_score and roc_auc_score do (metrics_test.go compares
// them with sklearn 1.2 on testdata/metrics.json, made by
// testdata/gen_metrics.py).

// ranked sorts the scores in decreasing order and returns, at each distinct
// score (threshold), the cumulative counts of positives and negatives at or
// above it: sklearn's _binary_clf_curve.
func ranked(scores []float64, labels []bool) (tps, fps []float64) {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var tp, fp float64
	for k, i := range order {
		if labels[i] {
			tp++
		} else {
			fp++
		}
		if k == len(order)-1 || scores[order[k+1]] != scores[i] {
			tps = append(tps, tp)
			fps = append(fps, fp)
		}
	}
	return tps, fps
}

// AveragePrecision is Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds in
// decreasing order (R₀ = 0): sklearn's average_precision_score, which
// does not interpolate. Tied scores form one threshold. It is NaN without
// positives.
func AveragePrecision(scores []float64, labels []bool) float64 {
	checkLengths(scores, labels)
	tps, fps := ranked(scores, labels)
	if len(tps) == 0 || tps[len(tps)-1] == 0 {
		return math.NaN()
	}
	P := tps[len(tps)-1]
	var ap, prevR float64
	for k := range tps {
		r := tps[k] / P
		ap += (r - prevR) * (tps[k] / (tps[k] + fps[k]))
		prevR = r
	}
	return ap
}

// ROCAUC is the area under the ROC curve by the trapezoidal rule over the
// distinct thresholds (ties count one half): sklearn's roc_auc_score. It
// is NaN unless both classes occur.
func ROCAUC(scores []float64, labels []bool) float64 {
	checkLengths(scores, labels)
	tps, fps := ranked(scores, labels)
	if len(tps) == 0 {
		return math.NaN()
	}
	P, N := tps[len(tps)-1], fps[len(fps)-1]
	if P == 0 || N == 0 {
		return math.NaN()
	}
	var area, x0, y0 float64
	for k := range tps {
		x, y := fps[k]/N, tps[k]/P
		area += (x - x0) * (y + y0) / 2
		x0, y0 = x, y
	}
	return area
}

func checkLengths(scores []float64, labels []bool) {
	if len(scores) != len(labels) {
		panic("tgraph: scores and labels differ in length")
	}
}
