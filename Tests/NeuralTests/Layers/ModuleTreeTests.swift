import Neural
import Testing

/// A module with a child, a parameter, an optional child and an array of children, all reassignable.
private final class Tree: Module, Layer {
    var scale = Parameter(.ones([1]))
    var head = Linear(2, 3)
    var extra: Linear? = nil
    var blocks: [Linear] = [Linear(3, 3)]
    var steps = 0

    func callAsFunction(_ x: Tensor) -> Tensor { head(x) * scale.value }
}

/// Children kept as existentials, as a user's own container would (not a `Sequential`).
private final class Stack: Module, Layer {
    let layers: [any Layer]
    let norm: (any Layer)?
    init(_ layers: [any Layer], norm: (any Layer)?) {
        self.layers = layers
        self.norm = norm
    }
    func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// A subclass adds its own properties after its superclass's.
private class Base: Module {
    let first = Parameter(.zeros([1]))
}

private final class Derived: Base {
    let second = Parameter(.zeros([2]))
    let buffer = Buffer(.zeros([3]))
    let pairs = [[Parameter(.zeros([1])), Parameter(.zeros([1]))], [Parameter(.zeros([1]))]]
}

/// The module tree is found by reflection worked out once per class: it must still see the
/// properties' current values, in declaration order, with PyTorch's names.
@Suite struct ModuleTreeTests {
    @Test func parametersOfChildrenOptionalsAndArraysAreNamedInDeclarationOrder() {
        let tree = Tree()
        #expect(tree.namedParameters().map(\.name) == ["scale", "head.weight", "head.bias", "blocks.0.weight", "blocks.0.bias"])
        #expect(tree.namedModules().map(\.name) == ["", "head", "blocks.0"])
    }

    @Test func reassignedPropertiesShowUpAfterTheFirstWalk() {
        let tree = Tree()
        _ = tree.namedParameters()
        _ = tree.namedModules()
        let head = Linear(2, 3), scale = Parameter(.ones([1])), extra = Linear(3, 1)
        tree.head = head
        tree.scale = scale
        tree.extra = extra
        tree.blocks.append(Linear(3, 3))
        let named = tree.namedParameters()
        #expect(named.map(\.name) == ["scale", "head.weight", "head.bias", "extra.weight", "extra.bias",
                                      "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"])
        #expect(named[0].parameter === scale)
        #expect(named[1].parameter === head.weight)
        #expect(named[3].parameter === extra.weight)
        #expect(tree.children.map(\.name) == ["head", "extra", "blocks.0", "blocks.1"])
        #expect(tree.children[1].module === extra)

        tree.extra = nil
        tree.blocks = []
        #expect(tree.namedParameters().map(\.name) == ["scale", "head.weight", "head.bias"])
    }

    @Test func anOptionalChildEmptyInTheFirstInstanceWalkedIsFoundInAnother() {
        let empty = Tree(), full = Tree()
        full.extra = Linear(3, 1)
        _ = empty.namedParameters()
        #expect(full.namedModules().map(\.name) == ["", "head", "extra", "blocks.0"])
    }

    @Test func existentialArraysAndOptionalsOfLayersAreWalked() {
        let stack = Stack([Linear(2, 2), ReLU(), Linear(2, 1)], norm: LayerNorm(1))
        #expect(stack.namedParameters().map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                                                        "norm.weight", "norm.bias"])
        #expect(Stack([ReLU()], norm: nil).namedParameters().isEmpty)
    }

    @Test func superclassPropertiesComeFirstAndBuffersAndNestedArraysAreFound() {
        let d = Derived()
        #expect(d.namedParameters().map(\.name) == ["first", "second", "pairs.0.0", "pairs.0.1", "pairs.1.0"])
        #expect(d.namedBuffers().map(\.name) == ["buffer"])
        #expect(Base().namedParameters().map(\.name) == ["first"])
    }

    @Test func sequentialAndBatchNormKeepTheirPyTorchNames() {
        let model = Sequential(Linear(4, 3), BatchNorm1D(3), ReLU(), Linear(3, 2))
        #expect(model.namedParameters().map(\.name) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"])
        #expect(model.namedBuffers().map(\.name) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
        model.eval()
        #expect(model.namedModules().allSatisfy { !$0.module.isTraining })
        model.train()
        #expect(model.namedModules().allSatisfy { $0.module.isTraining })
    }
}
