// Package layout composes a card: it turns a template (a TOML card design)
// and one job's data into a printer.Card, panel by panel, at the target
// printer's native raster.
//
// # Templates
//
// A template is a TOML file. Sizes and positions are millimetres on the
// card as the holder reads that side, origin at the top-left corner:
//
//	name = "temporary"
//	orientation = "landscape"      # or "portrait": drawn portrait, rotated into the raster
//	width = 85.60                  # card size in mm (CR80 is the default)
//	height = 53.98
//
//	[fonts]                        # optional: extra fonts, files beside the template
//	title = "fonts/Title.ttf"
//
//	[front]
//	overlay = true                 # varnish the whole side except overlay_mask regions
//
//	[[front.element]]
//	kind = "text"
//	name = "surname"
//	panel = "k"                    # color | k | overlay | uv
//	required = false               # true: fail when the ribbon lacks the panel
//	x = 30.0
//	y = 12.0
//	w = 50.0
//	h = 5.0
//	text = "{{.surname | upper}}"
//	size = 11                      # points
//	min_size = 7                   # shrink to fit w down to this size, then ellipsis
//
// Elements are drawn in the order they are listed. The element kinds
// shipped are background, photo, text, image, rect, line, barcode and
// overlay_mask; every key is described on the kind's type (Background,
// Photo, Text, Image, Rect, Line, Barcode, OverlayMask). Unknown keys are
// errors that name the file, the line when it can be found and the key path.
//
// # Panels
//
// Each element targets one panel. The colour panel is continuous tone and
// anti-aliased; k (resin black), overlay and uv are 1-bit printer.Mono
// images and are drawn without anti-aliasing: shapes and glyph masks are
// thresholded at half coverage, photos are dithered. A panel exists on a
// side only when an element targets it, except the overlay, which a side
// gets when it says overlay = true or holds an overlay_mask element.
//
// # Field expressions
//
// Text and barcode contents are Go text/template expressions evaluated
// against the job: the holder's fields by their job-file names
// ({{.surname}}) plus the values the pipeline provides: JobID, Serial,
// CardType, IssuedAt and Expires. The functions are fixed: upper, lower,
// title, trim, date, default, truncate and join (see Funcs). Dates in job
// fields are ISO 8601 (2006-01-02 or RFC 3339). A field the template uses
// but the job lacks is an error naming the template, the element and the
// field.
//
// # Adding an element kind
//
// A kind is a Go type implementing Element, usually in its own file
// (layout/security_microtext.go, say), and one entry in the table returned
// by DefaultKinds:
//
//	"microtext": {New: func() Element { return new(Microtext) }, Panel: printer.PanelK},
//
// The type embeds Base (kind, name, panel, x, y, w, h) and adds its own keys
// with toml tags (nested tables decode into struct fields); the template
// parser decodes each element table into a fresh value from New and rejects
// keys the type does not declare. Init runs once when the template is
// parsed: check values, compile expressions with InitContext.Expr, parse
// colours with ParseColor, check resource paths with InitContext.Resource; a
// kind with expressions also implements Exprs() []*Expr so that
// Template.Fields lists the fields it reads. Return *FieldError (or wrap
// one) to name the offending key. A kind whose drawing does not depend on
// the job implements Static() bool: the renderer then draws a side's
// leading run of static elements once per template and raster and copies
// it for later cards. Draw runs for every card with a
// *DrawContext, which converts millimetres to whole dots (Dots, Point, Rect,
// DotsF), gives the side's panels (RGBA, Mono, Paint, Fill), evaluates
// expressions against the job (Eval), hands out the decoded job photo
// (Photo, or ScaledPhoto: cropped and resampled, cached), font faces (Face),
// template resources (Image) and a per-card cache shared by the elements of
// both sides (Cache). DrawText and DrawTextLine set text with the same shrink,
// ellipsis and 1-bit rules as the text kind. Kinds are a value: a caller can
// also pass its own Kinds to ParseTemplate.
//
// # Rendering
//
// NewRenderer(opts).Render(ctx, template, data, geometry) returns a
// printer.Card at the printer's raster in whole dots (printer.CR80(300) is
// 1016 × 648). The card's millimetre grid is centred on the raster; a
// background without a box covers the whole raster (bleed). Job photos
// (JPEG or PNG) are size- and pixel-checked from their header before they
// are decoded, turned upright by their EXIF orientation, cropped to the
// box's aspect and resampled (Catmull-Rom by default, Lanczos or linear)
// plane by plane in fixed point, straight from the JPEG's YCbCr planes.
// The Renderer caches parsed fonts and decoded, scaled template images; it
// is safe for concurrent use. Put a side's static elements (background,
// fixed guilloche, labels, fixed microtext, static UV artwork) first in a
// template: that leading run is drawn once per template, raster and panel
// set and copied for later cards.
//
// # Ribbon panels
//
// RenderWith(ctx, template, data, geometry, &RenderOptions{Panels: …})
// renders for a printer whose ribbon provides only some panels (a YMCKO
// ribbon has no UV panel): an element on a missing panel is skipped and
// listed in RenderResult.Skipped (Render logs it at warning level once),
// and the missing panel is nil in the card. An element marked
// required = true in the template makes such a render fail instead, with
// an *Error wrapping ErrPanelMissing that names the template, element and
// panel. An element marked panel_optional = true is expected to be left
// out where the ribbon lacks its panel (UV on a YMCKO ribbon): it is still
// listed in RenderResult.Skipped but logged at debug level only.
// Options.Panels sets the default for a Renderer; nil means every panel.
package layout
