// xml.h: a small strict XML parser for annotation files (Pascal VOC): an
// optional <?xml ...?> declaration, comments, elements with attributes
// (parsed and kept), text, the five predefined entities and numeric
// character references. No DTDs, CDATA or namespaces: those are errors.
// Every node remembers its line for messages. Depends on runtime/error.h.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vedge {

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;  // concatenated character data, trimmed
  int line = 0;      // of the start tag, 1-based
  std::vector<XmlNode> children;

  // The first child named `name`, or nullptr.
  const XmlNode* child(const std::string& name) const;
  std::vector<const XmlNode*> children_named(const std::string& name) const;
};

// The root element. Throws vedge::Error "<source>:<line>: <problem>".
XmlNode parse_xml(const std::string& text, const std::string& source);

// Escapes &, <, >, " for text and attribute values.
std::string xml_escape(const std::string& s);

}  // namespace vedge
