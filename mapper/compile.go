package mapper

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// maxExprNodes bounds an expression's size (AST nodes): mappings are short,
// and a bound keeps a pathological config from exhausting memory at load.
const maxExprNodes = 2000

// fastKind is how a compiled expression is evaluated.
type fastKind int

const (
	fastNone     fastKind = iota // run the program in the VM
	fastAttr                     // first value of one attribute
	fastAnchor                   // the anchor
	fastDN                       // the DN
	fastString                   // a string constant
	fastBool                     // a boolean constant
	fastFunc1                    // a string function of one attribute: lower(uid)
	fastCoalesce                 // coalesce of attributes and constants
	fastContains                 // "value" in values("attr")
)

// fastFuncs are the string functions detectFast evaluates natively when
// applied to a plain attribute; they must behave exactly like their expr
// counterparts (TestFastPathsAgree checks).
var fastFuncs = map[string]func(string) string{
	"lower":            strings.ToLower,
	"upper":            strings.ToUpper,
	"trim":             strings.TrimSpace,
	"normalizeEmail":   normalizeEmail,
	"normalizePhone":   normalizePhone,
	"removeDiacritics": removeDiacritics,
}

// operand is an attribute reference or a string constant.
type operand struct {
	attr   string // lower-case attribute name, when isAttr
	value  string // the constant otherwise
	isAttr bool
}

// program is one compiled expression.
type program struct {
	src     string
	prog    *vm.Program
	fast    fastKind
	name    string              // fastAttr: the attribute; fastString: the constant
	boolean bool                // fastBool: the constant
	fn      func(string) string // fastFunc1
	ops     []operand           // fastCoalesce
	// attrs lists the lower-case source attributes the expression reads
	// by name (sorted); usesAnchor/usesDN say whether it reads those.
	attrs      []string
	usesAnchor bool
	usesDN     bool
	// dynamic is set when the expression computes attribute names at run
	// time (attr(x + "y")): nobody can list what it reads.
	dynamic bool
}

// compiler compiles expressions against one Mapper's functions.
type compiler struct {
	opts      []expr.Option
	funcNames map[string]bool // user-callable functions (not builtins)
	rc        *regexCache
	usesClock bool // an expression calls today, daysUntil or daysSince
}

func newCompiler(rc *regexCache) *compiler {
	fns := functions(rc)
	c := &compiler{
		opts:      exprOptions(fns),
		funcNames: make(map[string]bool, len(fns)),
		rc:        rc,
	}
	c.opts = append(c.opts, expr.Env(evalEnv{}), expr.MaxNodes(maxExprNodes))
	for _, f := range fns {
		if !strings.HasPrefix(f.name, "__") {
			c.funcNames[f.name] = true
		}
	}
	return c
}

// compile compiles src expecting a result of kind want (reflect.String or
// reflect.Bool). The pipeline is expr.Compile's, with our rewrite between
// parse and type check.
func (c *compiler) compile(src string, want reflect.Kind) (p *program, err error) {
	defer func() {
		// The parser and checker are not supposed to panic; a stranger's
		// config must still never crash syncd at load.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("cannot compile expression: %v", r)
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	cfg := conf.CreateNew()
	for _, o := range c.opts {
		o(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Expect = want
	cfg.ExpectAny = true
	cfg.Check()

	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		return nil, cleanExprError(err)
	}
	p = &program{src: src}
	rw := &rewriter{c: c, p: p, attrs: map[string]bool{}}
	rw.walk(&tree.Node, nil)
	if len(rw.errs) > 0 {
		return nil, errors.Join(rw.errs...)
	}
	for a := range rw.attrs {
		p.attrs = append(p.attrs, a)
	}
	sort.Strings(p.attrs)
	p.detectFast(tree.Node, want)

	if _, err := checker.Check(tree, cfg); err != nil {
		return nil, cleanExprError(err)
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, cleanExprError(err)
	}
	prog, err := exprcompiler.Compile(tree, cfg)
	if err != nil {
		return nil, cleanExprError(err)
	}
	p.prog = prog
	return p, nil
}

// cleanExprError keeps expr's message (it carries a caret under the
// position) but drops the trailing newline noise.
func cleanExprError(err error) error {
	return errors.New(strings.TrimRight(err.Error(), "\n"))
}

// attrOperand reports whether n is a rewritten attribute reference or a
// string constant.
func attrOperand(n ast.Node) (operand, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return operand{value: n.Value}, true
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == fnAttr {
			if s, ok := n.Arguments[1].(*ast.StringNode); ok {
				return operand{attr: s.Value, isAttr: true}, true
			}
		}
	}
	return operand{}, false
}

// detectFast recognises expressions the mapper can evaluate without the
// VM: the plain attribute reference most mappings are, a string function
// of one attribute (lower(uid)), and coalesce of attributes.
func (p *program) detectFast(n ast.Node, want reflect.Kind) {
	if want == reflect.Bool {
		switch n := n.(type) {
		case *ast.BoolNode:
			p.fast, p.boolean = fastBool, n.Value
		case *ast.CallNode:
			if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == fnContains {
				name, ok1 := n.Arguments[1].(*ast.StringNode)
				val, ok2 := n.Arguments[2].(*ast.StringNode)
				if ok1 && ok2 {
					p.fast, p.name, p.ops = fastContains, name.Value, []operand{{value: val.Value}}
				}
			}
		}
		return
	}
	if want != reflect.String {
		return
	}
	switch n := n.(type) {
	case *ast.BuiltinNode:
		if fn, ok := fastFuncs[n.Name]; ok && len(n.Arguments) == 1 {
			if op, ok := attrOperand(n.Arguments[0]); ok && op.isAttr {
				p.fast, p.fn, p.name = fastFunc1, fn, op.attr
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if fn, ok := fastFuncs[id.Value]; ok && len(n.Arguments) == 1 {
			if op, ok := attrOperand(n.Arguments[0]); ok && op.isAttr {
				p.fast, p.fn, p.name = fastFunc1, fn, op.attr
			}
			return
		}
		if id.Value == "coalesce" || id.Value == "default" && len(n.Arguments) == 2 {
			var ops []operand
			for _, a := range n.Arguments {
				op, ok := attrOperand(a)
				if !ok {
					return
				}
				ops = append(ops, op)
			}
			p.fast, p.ops = fastCoalesce, ops
			return
		}
		switch id.Value {
		case fnAttr:
			if s, ok := n.Arguments[1].(*ast.StringNode); ok {
				p.fast, p.name = fastAttr, s.Value
			}
		case fnAnchor:
			p.fast = fastAnchor
		case fnDN:
			p.fast = fastDN
		}
	case *ast.StringNode:
		p.fast, p.name = fastString, n.Value
	}
}

// rewriter turns source attribute names into calls that read the record:
//
//	mail              -> __attr($env, "mail")
//	givenName         -> __attr($env, "givenname")
//	attr("x-Foo")     -> __attr($env, "x-foo")
//	values("member")  -> __values($env, "member")
//	anchor, dn        -> __anchor($env), __dn($env)
//
// Names bound by let stay variables. Everything else is checked: unknown
// functions and $env are refused with a message naming them.
type rewriter struct {
	c     *compiler
	p     *program
	attrs map[string]bool
	errs  []error
}

func (rw *rewriter) errorf(format string, args ...any) {
	rw.errs = append(rw.errs, fmt.Errorf(format, args...))
}

func envNode() ast.Node { return &ast.IdentifierNode{Value: "$env"} }

func hiddenCall(at ast.Node, name string, args ...ast.Node) ast.Node {
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
	call.SetLocation(at.Location())
	call.Callee.SetLocation(at.Location())
	for _, a := range args {
		a.SetLocation(at.Location())
	}
	return call
}

func (rw *rewriter) attrRef(at ast.Node, fn, name string) ast.Node {
	lower := strings.ToLower(name)
	rw.attrs[lower] = true
	return hiddenCall(at, fn, envNode(), &ast.StringNode{Value: lower})
}

func (rw *rewriter) walk(node *ast.Node, scope []string) {
	switch n := (*node).(type) {
	case nil:
	case *ast.IdentifierNode:
		rw.identifier(node, n, scope)
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode,
		*ast.BytesNode, *ast.ConstantNode, *ast.PointerNode:
	case *ast.UnaryNode:
		rw.walk(&n.Node, scope)
	case *ast.BinaryNode:
		rw.walk(&n.Left, scope)
		rw.walk(&n.Right, scope)
		rw.inValues(node, n)
	case *ast.ChainNode:
		rw.walk(&n.Node, scope)
	case *ast.MemberNode:
		rw.walk(&n.Node, scope)
		rw.walk(&n.Property, scope)
	case *ast.SliceNode:
		rw.walk(&n.Node, scope)
		rw.walk(&n.From, scope)
		rw.walk(&n.To, scope)
	case *ast.CallNode:
		rw.call(node, n, scope)
	case *ast.BuiltinNode:
		for i := range n.Arguments {
			rw.walk(&n.Arguments[i], scope)
		}
	case *ast.PredicateNode:
		rw.walk(&n.Node, scope)
	case *ast.VariableDeclaratorNode:
		rw.walk(&n.Value, scope)
		rw.walk(&n.Expr, append(scope[:len(scope):len(scope)], n.Name))
	case *ast.SequenceNode:
		for i := range n.Nodes {
			rw.walk(&n.Nodes[i], scope)
		}
	case *ast.ConditionalNode:
		rw.walk(&n.Cond, scope)
		rw.walk(&n.Exp1, scope)
		rw.walk(&n.Exp2, scope)
	case *ast.ArrayNode:
		for i := range n.Nodes {
			rw.walk(&n.Nodes[i], scope)
		}
	case *ast.MapNode:
		for i := range n.Pairs {
			rw.walk(&n.Pairs[i], scope)
		}
	case *ast.PairNode:
		rw.walk(&n.Key, scope)
		rw.walk(&n.Value, scope)
	default:
		rw.errorf("unsupported expression construct %T", n)
	}
}

// inValues turns `x in values("a")` into __contains($env, "a", x): the
// common "objectClass contains" test, without expr's reflection-based in.
func (rw *rewriter) inValues(node *ast.Node, n *ast.BinaryNode) {
	if n.Operator != "in" {
		return
	}
	call, ok := n.Right.(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != fnValues {
		return
	}
	if _, ok := call.Arguments[1].(*ast.StringNode); !ok {
		return
	}
	ast.Patch(node, hiddenCall(n, fnContains, envNode(), call.Arguments[1], n.Left))
}

func (rw *rewriter) identifier(node *ast.Node, n *ast.IdentifierNode, scope []string) {
	for _, s := range scope {
		if s == n.Value {
			return // a let variable
		}
	}
	switch {
	case n.Value == "$env":
		rw.errorf(`$env is not available in syncd expressions; read attributes by name or with attr("name")`)
	case strings.HasPrefix(n.Value, "__"):
		rw.errorf("unknown name %s", n.Value)
	case n.Value == "anchor":
		rw.p.usesAnchor = true
		ast.Patch(node, hiddenCall(n, fnAnchor, envNode()))
	case n.Value == "dn":
		rw.p.usesDN = true
		ast.Patch(node, hiddenCall(n, fnDN, envNode()))
	default:
		ast.Patch(node, rw.attrRef(n, fnAttr, n.Value))
	}
}

func (rw *rewriter) call(node *ast.Node, n *ast.CallNode, scope []string) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		rw.errorf("only function calls are supported (no methods)")
		return
	}
	switch name := id.Value; {
	case name == "attr" || name == "values":
		if len(n.Arguments) != 1 {
			rw.errorf("%s takes one argument (the source attribute name), got %d", name, len(n.Arguments))
			return
		}
		fn := fnAttr
		if name == "values" {
			fn = fnValues
		}
		if s, ok := n.Arguments[0].(*ast.StringNode); ok {
			ast.Patch(node, rw.attrRef(n, fn, s.Value))
			return
		}
		rw.p.dynamic = true
		rw.walk(&n.Arguments[0], scope)
		ast.Patch(node, hiddenCall(n, fn, envNode(), n.Arguments[0]))
		return
	case !rw.c.funcNames[name]:
		rw.errorf("unknown function %s (known: %s)", name, strings.Join(rw.c.knownFunctions(), ", "))
		return
	case clockFuncs[name] != "":
		for i := range n.Arguments {
			rw.walk(&n.Arguments[i], scope)
		}
		rw.c.usesClock = true
		ast.Patch(node, hiddenCall(n, clockFuncs[name], append([]ast.Node{envNode()}, n.Arguments...)...))
		return
	case name == "regexReplace" && len(n.Arguments) == 3:
		if s, ok := n.Arguments[1].(*ast.StringNode); ok {
			if _, err := rw.c.rc.get(s.Value); err != nil {
				rw.errs = append(rw.errs, err)
			}
		}
	}
	for i := range n.Arguments {
		rw.walk(&n.Arguments[i], scope)
	}
}

// knownFunctions lists the functions an expression may call, for messages.
func (c *compiler) knownFunctions() []string {
	names := make([]string, 0, len(c.funcNames)+16)
	for n := range c.funcNames {
		names = append(names, n)
	}
	names = append(names, "lower", "upper", "trim", "split", "join", "replace", "hasPrefix", "hasSuffix", "len", "first", "last", "filter", "map")
	sort.Strings(names)
	return names
}
