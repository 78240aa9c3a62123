// KingdeeSandbox
