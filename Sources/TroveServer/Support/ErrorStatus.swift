import Hummingbird
import TroveCore

// The HTTP status of each domain error, in one place: the core's errors say what went wrong, never how a
// protocol answers it.

extension IngestError {
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .malformed: .badRequest
        case .invalid: .unprocessableContent
        case .tooLarge: .contentTooLarge
        case .notFound: .notFound
        case .unavailable: .serviceUnavailable
        }
    }
}

extension SegmentError {
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .malformed: .badRequest
        case .invalid: .unprocessableContent
        case .notFound: .notFound
        case .conflict: .conflict
        }
    }
}

extension ExportError {
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .notReady: .conflict
        case .forbidden: .forbidden
        }
    }
}

extension WebhookError {
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalid: .unprocessableContent
        case .notFound: .notFound
        }
    }
}

extension DestinationError {
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalid: .unprocessableContent
        case .notFound: .notFound
        case .upstream: .badGateway
        }
    }
}
