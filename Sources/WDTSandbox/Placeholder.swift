// WDTSandbox
