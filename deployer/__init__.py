"""fw deployer: config, packaging, policy generation, planning and executing AWS calls."""
