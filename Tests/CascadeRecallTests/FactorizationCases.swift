import CascadeRecall
extension ChannelCase { static let factorization: [ChannelCase] = [] }
