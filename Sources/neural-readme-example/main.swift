// README.md's ```swift blocks, in order: `readmeSwiftBlocks()` is generated from README.md at build
// time by the ReadmeExample plugin (Plugins/ReadmeExample), so this program is the README's code.
// Run it from the repository root, where the README's relative paths (../shared/data/mnist) point.
try readmeSwiftBlocks()
