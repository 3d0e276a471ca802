// PreflightCore
