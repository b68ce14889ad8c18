// Package timeseries holds loom's time-series tasks beyond long-term
// forecasting, as the survey of Wen et al. ("Transformers in Time
// Series: A Survey", arXiv 2202.07125) lists them and thuml's
// Time-Series-Library benchmarks them: classification, anomaly detection
// by reconstruction, and imputation, over the backbones of package
// forecast (the temporal-token Transformer, iTransformer, DLinear,
// PatchTST), with the classical baselines that make their numbers mean
// something: 1-NN with DTW (dtw.go).
package timeseries
