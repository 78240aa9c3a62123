import FerryCore
import FerryTemplate

/// Builds a template text around a `<bill>` body; line 1 is the XML declaration, the body starts on line 12.
func templateText(bill: String, extra: String = "", filters: String = "", target: String = "") -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <scheme xmlns="urn:ferry:scheme:1" name="test" version="1.0.0">
      <description>test scheme</description>
      <source api="wdt.stockin.order.query" list="stockin_list" key="stockin_no" version="modified">
        <param name="status">80</param>
      </source>
      <target form="STK_MISCELLANEOUS" number="FBillNo">\(target)</target>
      <lookup name="materials" file="materials.csv" key="spec_no" value="number" on-miss="pass"/>
      <map name="kinds" on-miss="default" default="其他"><entry key="1" value="采购"/></map>\(extra)\(filters)
      <bill>
        <field name="FBillNo" path="stockin_no" required="true"/>
    \(bill)
      </bill>
    </scheme>
    """
}

/// Parses template text; returns the template and rendered diagnostics.
func parse(_ text: String) -> (template: MappingTemplate?, messages: [String]) {
    let (template, diagnostics) = MappingTemplate.parse(Array(text.utf8), file: "t.xml")
    return (template, diagnostics.map(\.description))
}
