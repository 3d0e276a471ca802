// PreflightReporters
