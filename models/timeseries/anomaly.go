package timeseries

import (
	"fmt"
	"math"
	"slices"
)

// Percentile is NumPy's default percentile (linear interpolation between
// the closest ranks) of xs, p in [0, 100].
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Threshold kinds for anomaly scores at an anomaly ratio.
const (
	// ThresholdTrain sets the threshold on the training scores alone: a
	// detector that has not seen the test data.
	ThresholdTrain = "train"
	// ThresholdTrainTest sets it on the training and test scores together,
	// as Time-Series-Library's anomaly detection does (it lets the test
	// set's score distribution place the threshold).
	ThresholdTrainTest = "train+test"
)

// AnomalyThreshold is the (100 − ratio)th percentile of the training
// scores (ThresholdTrain) or of the training and test scores together
// (ThresholdTrainTest); ratio is in percent.
func AnomalyThreshold(kind string, train, test []float64, ratio float64) (float64, error) {
	if !(ratio > 0 && ratio < 100) {
		return 0, fmt.Errorf("anomaly ratio %v %%, want (0, 100)", ratio)
	}
	switch kind {
	case ThresholdTrain:
		return Percentile(train, 100-ratio), nil
	case ThresholdTrainTest:
		return Percentile(append(slices.Clone(train), test...), 100-ratio), nil
	}
	return 0, fmt.Errorf("threshold %q, want %q or %q", kind, ThresholdTrain, ThresholdTrainTest)
}

// PointAdjust returns pred with every true anomaly segment (a maximal run
// of label 1) marked detected whole when any of its points is: the
// point-adjusted protocol of Xu et al. (2018) that Time-Series-Library
// reports. It inflates scores: a segment of 1,000 points found at one
// counts 1,000 true positives. (TSLib's loop never back-fills index 0;
// this one does.)
func PointAdjust(labels, pred []bool) []bool {
	out := slices.Clone(pred)
	for i := 0; i < len(labels); {
		if !labels[i] {
			i++
			continue
		}
		j, hit := i, false
		for j < len(labels) && labels[j] {
			hit = hit || pred[j]
			j++
		}
		if hit {
			for k := i; k < j; k++ {
				out[k] = true
			}
		}
		i = j
	}
	return out
}

// BinaryScores are precision, recall and F1 of the positive (anomaly)
// class, as scikit-learn's precision_recall_fscore_support(average=
// "binary"): 0 where undefined.
type BinaryScores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
}

// Score compares predictions with labels.
func Score(labels, pred []bool) BinaryScores {
	var s BinaryScores
	for i := range labels {
		switch {
		case pred[i] && labels[i]:
			s.TP++
		case pred[i]:
			s.FP++
		case labels[i]:
			s.FN++
		}
	}
	if s.TP+s.FP > 0 {
		s.Precision = float64(s.TP) / float64(s.TP+s.FP)
	}
	if s.TP+s.FN > 0 {
		s.Recall = float64(s.TP) / float64(s.TP+s.FN)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// Detection is a detector's outcome on labelled test points at one
// threshold: scores as they are and point-adjusted.
type Detection struct {
	Threshold     float64      `json:"threshold"`
	Kind          string       `json:"threshold_on"`
	Flagged       int          `json:"flagged"`
	Raw           BinaryScores `json:"raw"`
	PointAdjusted BinaryScores `json:"point_adjusted"`
}

// Detect flags test scores above threshold and scores them against labels.
func Detect(scores []float64, labels []bool, threshold float64, kind string) Detection {
	pred := make([]bool, len(scores))
	n := 0
	for i, s := range scores {
		pred[i] = s > threshold
		if pred[i] {
			n++
		}
	}
	return Detection{Threshold: threshold, Kind: kind, Flagged: n, Raw: Score(labels, pred), PointAdjusted: Score(labels, PointAdjust(labels, pred))}
}
