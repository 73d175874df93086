import CascadeRecall
extension ChannelCase { static let rules: [ChannelCase] = [] }
