import Testing
@testable import KeySync
