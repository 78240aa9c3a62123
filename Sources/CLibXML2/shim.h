#ifndef FERRY_CLIBXML2_SHIM_H
#define FERRY_CLIBXML2_SHIM_H

// Debian builds libxml2 with LIBXML_ICU_ENABLED, which makes <libxml/encoding.h> include the system
// <unicode/ucnv.h>. Any Swift module that sees both Foundation (with its own _FoundationICU) and this
// module then fails with "'UErrorCode' has different definitions in different modules". Ferry never
// touches the ICU-only members at the end of xmlCharEncodingHandler, so the ICU part is switched off
// here, before any other libxml2 header is read.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

// Swift 6 rejects `xmlFree` (a mutable C global function pointer) and cannot see the
// `xmlParserVersion` macro of thread-enabled builds; these wrappers can be called from Swift.
static inline void ferry_xml_free(void *p) { xmlFree(p); }
static inline const char *ferry_xml_runtime_version(void) { return xmlParserVersion; }

#endif
