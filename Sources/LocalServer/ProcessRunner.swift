import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a finished child process said and how it ended.
public struct ProcessOutcome: Sendable {
    /// The exit code, or 128 + the signal number when a signal ended it (as shells report).
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs programs to completion, capturing their output: a local server's `initdb`/`pg_ctl`, the
/// application's Python, and the built `pgmend` binary in end-to-end tests.
///
/// Built on `posix_spawn` and `waitpid` rather than Foundation's `Process`, whose
/// `waitUntilExit` was seen to miss a child's exit when tests spawn in parallel. Every pipe
/// is close-on-exec, so a child spawned by one test never holds another test's pipe open.
public enum ProcessRunner {
    /// Runs `executable` with `arguments`; the environment is this process's, plus `environment`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdin: String? = nil
    ) throws -> ProcessOutcome {
        // Pipes are made and the child spawned under one lock: between pipe() and the
        // close-on-exec flag, a child spawned by another thread would inherit the descriptors.
        spawnLock.lock()
        let output: (read: Int32, write: Int32)
        let errors: (read: Int32, write: Int32)
        let input: (read: Int32, write: Int32)
        do {
            output = try makePipe()
            errors = try makePipe()
            input = try makePipe()
        } catch {
            spawnLock.unlock()
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)

        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = [executable] + arguments
        let envp = merged.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStringVector(argv) { argvPointer in
            withCStringVector(envp) { envPointer in
                posix_spawn(&pid, executable, &actions, nil, argvPointer, envPointer)
            }
        }
        spawnLock.unlock()
        close(input.read)
        close(output.write)
        close(errors.write)
        guard spawned == 0 else {
            close(input.write)
            close(output.read)
            close(errors.read)
            throw SpawnFailure(executable: executable, reason: String(cString: strerror(spawned)))
        }
        if let stdin {
            var remaining = Array(stdin.utf8)[...]
            while !remaining.isEmpty {
                let written = remaining.withUnsafeBytes { write(input.write, $0.baseAddress, $0.count) }
                if written <= 0 { break }
                remaining = remaining.dropFirst(written)
            }
        }
        close(input.write)
        let (out, err) = drain(output.read, errors.read)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7f
        return ProcessOutcome(
            status: signal == 0 ? (status >> 8) & 0xff : 128 + signal,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    /// Reads both descriptors until each reaches end of file, whichever has data first.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var collected: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    collected[index] += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    close(fds[index].fd)
                    fds[index].fd = -1  // poll ignores negative descriptors
                }
            }
        }
        return (collected[0], collected[1])
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SpawnFailure(executable: "pipe", reason: String(cString: strerror(errno)))
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}

private let spawnLock = NSLock()

/// A program could not be started at all.
public struct SpawnFailure: Error, Sendable, CustomStringConvertible {
    public var executable: String
    public var reason: String
    public var description: String { "cannot run \(executable): \(reason)" }
}

/// Calls `body` with a NULL-terminated `char *const[]` that lives for the call.
private func withCStringVector<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let vector = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() { vector[index] = strdup(string) }
    vector[strings.count] = nil
    defer {
        for index in 0..<strings.count { free(vector[index]) }
        vector.deallocate()
    }
    return body(vector)
}
