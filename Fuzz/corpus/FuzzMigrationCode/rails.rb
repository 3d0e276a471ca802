20260301000000_add_edited_at_to_messages.rb
class AddEditedAt < ActiveRecord::Migration[7.1]
  def change
    add_column :messages, :edited_at, :datetime
    create_table :rooms do |t|
      t.string :name
    end
  end
end
