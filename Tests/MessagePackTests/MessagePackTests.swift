import MessagePack
import Testing

@Test func nilEqualsNil() { #expect(MessagePackValue.nil_ == .nil_) }
