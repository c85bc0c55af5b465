import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Neural
import Testing

/// One element of a parsed SVG: its name, attributes, direct text, and the `class` attributes of
/// its ancestors (innermost last).
struct SVGElement {
    var name: String
    var attributes: [String: String]
    var text: String
    var ancestorClasses: [String]

    /// This element's class or that of an ancestor.
    func within(_ cls: String) -> Bool { attributes["class"] == cls || ancestorClasses.contains(cls) }
}

/// A parsed SVG document (XMLParser: fails on anything that is not well-formed XML).
final class SVGDocument: NSObject, XMLParserDelegate {
    private(set) var elements: [SVGElement] = []
    private var stack: [Int] = []
    private(set) var error: String?

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() { error = parser.parserError.map { "\($0)" } ?? "parse failed" }
    }

    var root: SVGElement? { elements.first }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        let classes = stack.compactMap { elements[$0].attributes["class"] }
        elements.append(SVGElement(name: name, attributes: attributes, text: "", ancestorClasses: classes))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let i = stack.last { elements[i].text += string }
    }

    /// Elements named `name` (optionally inside something of class `within`).
    func all(_ name: String, within cls: String? = nil) -> [SVGElement] {
        elements.filter { $0.name == name && (cls == nil || $0.within(cls!)) }
    }

    /// Texts of `<text>` elements inside class `cls`.
    func texts(within cls: String) -> [String] { all("text", within: cls).map(\.text) }

    /// The points of every polyline inside the line series labelled `label`.
    func polylinePoints(series label: String) -> [(x: Double, y: Double)] {
        var inSeries = false, out: [(x: Double, y: Double)] = []
        for e in elements {
            if e.name == "g" { inSeries = e.attributes["class"] == "line-series" && e.attributes["data-label"] == label }
            if e.name == "polyline" && inSeries {
                for pair in (e.attributes["points"] ?? "").split(separator: " ") {
                    let c = pair.split(separator: ",").compactMap { Double($0) }
                    if c.count == 2 { out.append((c[0], c[1])) }
                }
            }
        }
        return out
    }
}

/// Parses `svg`, expecting well-formed XML with an `<svg>` root.
func parseSVG(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) -> SVGDocument {
    let doc = SVGDocument(svg)
    #expect(doc.error == nil, "SVG is not well-formed: \(doc.error ?? "")", sourceLocation: sourceLocation)
    #expect(doc.root?.name == "svg", sourceLocation: sourceLocation)
    #expect(doc.root?.attributes["xmlns"] == "http://www.w3.org/2000/svg", sourceLocation: sourceLocation)
    return doc
}

/// When `NEURAL_PLOT_DIR` is set, writes the figure there (for rendering and looking at it).
func saveForInspection(_ plot: SVGPlot, _ name: String) throws {
    guard let dir = ProcessInfo.processInfo.environment["NEURAL_PLOT_DIR"], !dir.isEmpty else { return }
    try plot.write(to: URL(fileURLWithPath: dir).appendingPathComponent(name + ".svg"))
}
