// PreflightExplain
