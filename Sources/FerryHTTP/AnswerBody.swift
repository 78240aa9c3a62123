import AsyncHTTPClient
import NIOCore

/// Reads the body of an answer by a deadline.
///
/// AsyncHTTPClient's request deadline ends with the answer's head, and its read timeout only bounds each
/// wait for the body, so a server (or proxy) trickling its body one byte at a time within the read timeout
/// would hold the request for as long as it liked.
public enum AnswerBody {
    /// The body, read completely (at most `limit` bytes) by `deadline`.
    ///
    /// - Throws: `HTTPClientError.deadlineExceeded` when the body is not complete by `deadline`,
    ///   `NIOTooManyBytesError` when it is larger than `limit`, or what reading the body throws.
    public static func collect(_ body: HTTPClientResponse.Body, upTo limit: Int, deadline: NIODeadline) async throws
        -> ByteBuffer
    {
        try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                let left = (deadline - .now()).nanoseconds
                if left > 0 { try await Task.sleep(nanoseconds: UInt64(left)) }
                throw HTTPClientError.deadlineExceeded
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
