/// Fields Ferry knows for each source API, so `ferry validate` can warn about a misspelt path.
///
/// A path to a field not listed here is a warning, not an error: WDT adds fields over time.
public enum SourceAPIs {
    /// Known fields of one document, and of each of its arrays' elements.
    public struct Fields: Sendable {
        /// Fields of the document.
        public var document: Set<String>
        /// Fields of array elements, by array name.
        public var arrays: [String: Set<String>]
        /// The member of a page that holds the documents.
        public var list: String? = nil
    }

    /// The field lists by API method.
    public static let known: [String: Fields] = [
        "wdt.stockin.order.query": Fields(
            document: [
                "stockin_id", "stockin_no", "order_no", "wms_status", "wms_result", "warehouse_id", "src_order_id",
                "reason_id", "fa_status", "logistics_id", "post_share_type", "operator_id", "note_count", "flag_id",
                "warehouse_no", "warehouse_name", "status", "stockin_time", "created_time", "modified",
                "stockin_reason", "order_type", "order_type_name", "goods_amount", "total_price", "post_fee",
                "other_fee", "logistics_type", "check_time", "src_order_no", "outer_no", "logistics_no",
                "logistics_code", "logistics_name", "operator_name", "remark", "discount", "tax_amount",
                "provider_no", "provider_name", "purchase_no", "goods_count", "goods_type_count", "right_nums",
                "right_price", "adjust_num", "src_order_type", "check_operator_name", "details_list",
            ],
            arrays: [
                "details_list": [
                    "stockin_id", "src_order_type", "modified", "remark", "goods_count", "discount", "tax_amount",
                    "rec_id", "src_order_detail_id", "org_stockin_detail_id", "spec_id", "batch_id", "position_id",
                    "num", "num2", "unit_id", "base_unit_id", "unit_ratio", "expect_num", "cost_price2",
                    "share_post_cost", "share_post_total", "created", "spec_no", "right_num", "right_price",
                    "right_cost", "cost_price", "production_date", "validity_days", "expire_date", "src_price",
                    "tax_price", "tax", "total_cost", "adjust_num", "adjust_price", "brand_no", "brand_name",
                    "goods_name", "goods_no", "spec_name", "spec_code", "prop2", "goods_unit", "batch_no",
                    "batch_remark", "position_no",
                ]
            ],
            list: "stockin_list")
    ]
}
