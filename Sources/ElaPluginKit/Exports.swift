// A Swift plugin imports only ElaPluginKit; the JSON values its handlers take and return come with it.
@_exported public import ElaJSON
