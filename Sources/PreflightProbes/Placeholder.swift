// PreflightProbes
