import Foundation
import PackagePlugin

/// Generates `EmbeddedScripts.swift` for KeySync at build time from the shell
/// keysync runs on hosts (`Sources/KeySync/Sync/Scripts/*.sh`), so the .sh
/// files are the one source and the binary carries them without a resource
/// bundle (a static single-file build has nowhere to put one).
@main
struct EmbedScriptsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        // The directory is excluded from the target's sources (Package.swift),
        // so the files are listed here rather than taken from the target.
        // (The package's folder: a target's `directoryURL` needs tools version 6.1.)
        let directory = context.package.directoryURL.appending(path: "Sources/KeySync/Sync/Scripts")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sh") }
            .sorted()
            .map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedScripts.swift")
        return [
            .buildCommand(
                displayName: "Embedding the host scripts of \(target.name)",
                executable: try context.tool(named: "KeySyncEmbedScripts").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
