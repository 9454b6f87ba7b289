// The use-case layer: what the desk does for a caller, whatever face asked
// (protobuf `/order`, JSON, `/v2`, the web page, the CLI). Each use case takes a
// typed caller and typed input and returns a typed outcome or a typed refusal;
// no HTTP type, no status code and no JSON below this line. Faces translate.
