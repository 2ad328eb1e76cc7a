import Dispatch
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Stamps each request head with the moment its last byte was decoded, before it waits for a
/// task to run it, so the request log and the claim latency count the time a request queued
/// behind busy handlers (a client's wait starts at arrival, not when a handler is free). The
/// stamp is a header only this handler writes: one a client sends under the same name is
/// replaced.
final class ArrivalStamp: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    /// The stamp: `DispatchTime` uptime nanoseconds, in decimal.
    static let field = HTTPField.Name("Pahlawan-Arrival-Ns")!

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        head.headerFields[Self.field] = String(DispatchTime.now().uptimeNanoseconds)
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// The arrival stamped on `fields`, if it is one this process could have written.
    static func arrival(_ fields: HTTPFields, now: UInt64) -> UInt64? {
        guard let text = fields[field], let value = UInt64(text), value <= now else { return nil }
        return value
    }
}
