"""Text classification and regression: scikit-learn models (logreg, linreg, mlp), torch RNNs,
metrics and reports. ``train.train`` and ``predict.predict_files`` are the two entry points."""
